"""Staff entry of PAKN received by letter, e-mail or paper form, with the original date of receipt."""
