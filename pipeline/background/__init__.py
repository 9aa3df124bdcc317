"""Work off the request thread: recorded tasks, a job's slow steps, and the senders that work in rounds."""
