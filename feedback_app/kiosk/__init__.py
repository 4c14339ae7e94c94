"""Citizens' survey pages: the kiosk at the counter and the QR form on a phone."""
