/*
 * pam.h - check a user's password through PAM.
 *
 * Called only in the privileged parents of submitd and imapd (PAM modules
 * may need root to read their databases).  The password is handed to PAM
 * through the conversation function and never logged or copied beyond
 * the response PAM asks for, which PAM frees.
 *
 *	if (pam_check("sealmail", user, password, err, sizeof(err)) == -1)
 *		log_info("auth user=%s result=fail reason=%s", user, err);
 *
 * Returns 0 if the password is right and the account may be used now,
 * -1 otherwise with a short reason in err.
 */
#ifndef SM_PAM_H
#define SM_PAM_H

#include <stddef.h>

int	 pam_check(const char *, const char *, const char *, char *, size_t);

#endif
