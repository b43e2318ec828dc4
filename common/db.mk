# common/db.mk - file lists of common/ (see HACKING.md)
