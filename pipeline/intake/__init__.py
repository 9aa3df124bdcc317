"""Orders into items: submitting and parsing an order, the review gate, editing items, field mapping."""
