"""Safety and governance evidence: contamination checks between training and evaluation data."""
