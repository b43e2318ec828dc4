# smtpd/local.mk - file lists of smtpd/ (see HACKING.md)
