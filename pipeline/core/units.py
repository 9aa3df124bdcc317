"""Lengths: templates and beds are in millimetres, fonts and PDF pages in points (1/72 inch)."""

MM_PER_IN = 25.4
PT_PER_IN = 72.0
MM_PER_PT = MM_PER_IN / PT_PER_IN
PT_PER_MM = PT_PER_IN / MM_PER_IN
