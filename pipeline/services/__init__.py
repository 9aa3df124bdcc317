"""Use cases as the doors call them (Slack listeners; `customer` for the approval page): plain values
in, one transaction each, plain values out.

Each function opens its own session, calls the domain modules (`jobs`, `items`, `catalog`,
`approvals`...) and tells the notifier what changed once the change is committed, so a listener only
turns a payload into arguments and the result into an answer.
"""
