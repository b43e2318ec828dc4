# common/mime.mk - file lists of common/ (see HACKING.md)
