/*
 * pam.c - password checks through PAM; see pam.h.
 *
 * Runs as root in the parents of submitd and imapd, which receive user
 * names and passwords from their unprivileged children over IPC and
 * treat them as hostile: both are length-checked and must be NUL-free
 * text before PAM sees them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "pam.h"

#define PAM_MAX_INPUT	1024

struct pam_appdata {
	const char	*password;
};

/* Answer every password prompt with the password; refuse anything else. */
static int
pam_conv_fn(int n, const struct pam_message **msg,
    struct pam_response **resp_r, void *data)
{
	struct pam_appdata	*app = data;
	struct pam_response	*resp;
	int			 i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((resp = calloc((size_t)n, sizeof(*resp))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			resp[i].resp = strdup(app->password);
			if (resp[i].resp == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			goto fail;
		}
	}
	*resp_r = resp;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++) {
		if (resp[i].resp != NULL) {
			explicit_bzero(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	}
	free(resp);
	return PAM_CONV_ERR;
}

int
pam_check(const char *service, const char *user, const char *password,
    char *err, size_t errlen)
{
	struct pam_appdata	 app = { password };
	struct pam_conv		 conv = { pam_conv_fn, &app };
	pam_handle_t		*ph = NULL;
	int			 rc;

	if (user == NULL || password == NULL || *user == '\0' ||
	    strlen(user) > PAM_MAX_INPUT || strlen(password) > PAM_MAX_INPUT) {
		snprintf(err, errlen, "bad input");
		return -1;
	}
	if ((rc = pam_start(service, user, &conv, &ph)) != PAM_SUCCESS) {
		snprintf(err, errlen, "pam_start: %s", pam_strerror(ph, rc));
		return -1;
	}
	rc = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc != PAM_SUCCESS)
		snprintf(err, errlen, "%s", pam_strerror(ph, rc));
	pam_end(ph, rc);
	return rc == PAM_SUCCESS ? 0 : -1;
}
