# imapd/local.mk - file lists of imapd/ (see HACKING.md)
