"""Proofs and preflight: drawing an item's proof and the job's proof sheet, making a job's proofs, checking
every item before export."""
