"""Jobs and workspaces: a job's record, its one door for status (lifecycle), its activity log and summary."""
