"""The citizen's side of PAKN (phản ánh, kiến nghị): the public form, the receipt, the sender's private page and
the public list of published answers. The rules live in feedback_app/complaints/; these pages only call them."""
