# sealmailctl/local.mk - file lists of sealmailctl/ (see HACKING.md)
