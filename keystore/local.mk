# keystore/local.mk - file lists of keystore/ (see HACKING.md)
