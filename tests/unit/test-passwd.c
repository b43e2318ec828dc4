#include "test.h"
int main(void);
int main(void) { static void (*const t[])(void) = { NULL }; return test_run(t); }
