# mda/local.mk - file lists of mda/ (see HACKING.md)
