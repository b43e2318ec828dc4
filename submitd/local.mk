# submitd/local.mk - file lists of submitd/ (see HACKING.md)
