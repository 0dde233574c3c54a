"""Getting paid and telling people: email over SMTP (more of SPEC 8 arrives here)."""
