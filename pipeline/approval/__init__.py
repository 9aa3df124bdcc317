"""The customer's approval: links, the page's data, decisions, and the approval email."""
