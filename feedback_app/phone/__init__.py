"""The survey on a citizen's phone: one script-free page reached from the counter's QR code or a link."""
