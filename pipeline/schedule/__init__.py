"""The scheduler's scans: due dates, preflight errors that sit, approvals that wait, expired links,
customer reminders and the daily digest."""
