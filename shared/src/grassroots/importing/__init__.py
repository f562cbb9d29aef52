"""Excel templates and import (issue 18): the templates an office fills in, and the reading of a
filled-in workbook into contract events — pure, nothing is published here.

- `templates`: the downloadable workbooks (`write_templates`, `template_bytes`);
- `reading`: `read_workbook(data, Where(county, campaign, source))` → `ImportResult` (the good
  rows' events, with deterministic ids, and every bad cell as a `CellError`);
- `exporting`: events → a workbook of the templates' form (the other way round);
- `command`: what `grassroots import` and `grassroots templates` do around them.
"""
