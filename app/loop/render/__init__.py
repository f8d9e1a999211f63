"""What Fixloop writes on GitHub, one module per kind of text, each imported from where it is.

The rendering is split by concern: ``issue`` (title and body), ``status`` (the status comment and its
Mermaid flowchart), ``comments`` (recurrence, reopened, verified), ``task`` (what the coding agent is
asked), ``suspects`` and ``samples`` (parts of the issue), with the shared facts in ``facts``, the hidden
markers in ``markers`` and the untrusted-text helpers in ``text``. Everything that came from logs, the
cluster or the LLM is redacted, then neutralised, before it is put in markdown.
"""
