"""QR codes and printable posters for counters."""
