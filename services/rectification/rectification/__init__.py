"""The rectification service: problems, public commitments, review, tasks, overdue, settlement (集中整改)."""
