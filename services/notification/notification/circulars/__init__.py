"""Circulars (通报) as documents of the committee: the platform drafts them (weekly, at a phase's
close, on the office's request, for a committee's commendations), the office edits them, and
only one a person signed off is numbered and sent to every organisation of the county.

- `drafting.py`: what a draft names and how each item reads (pure);
- `decisions.py`: the office's decisions, checked (pure);
- `store.py`: their SQL (`store.circulars`);
- `drafts.py`: drafting, the sign-off reminder and telling the office of a refused sign-off;
- `handlers.py`: inspections, progress reports and the office's decisions (supervision.*).
"""
