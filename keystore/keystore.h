/*
 * keystore.h - the keystore's roles.
 */
#ifndef SM_KEYSTORE_H
#define SM_KEYSTORE_H

struct sm_config;

void	 keyserver_main(const struct sm_config *, const int *, int, int)
	    __attribute__((noreturn));

/* Key server protocol limits (DESIGN.md, "Key server"). */
#define KS_LINE_MAX		512
#define KS_MAX_COMMANDS		50	/* per connection */
#define KS_IDLE_TIMEOUT		30	/* seconds */
#define KS_RATE_PER_MINUTE	60	/* queries per client address */

#endif
