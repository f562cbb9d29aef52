"""Printable documents (PDF): the issued circular in the official-document layout (公文格式),
the campaign's work report and a progress report, rendered from HTML by headless Chromium."""
