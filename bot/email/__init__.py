"""The email side: outbound digests over SMTP, signed action links, inbound share-by-email, imports."""
