"""The hotline log (đường dây nóng): calls written down by the operator, turned into PAKN when they are one."""
