# common/smtp.mk - file lists of common/ (see HACKING.md)
