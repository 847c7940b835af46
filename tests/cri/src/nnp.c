/* e2e-test-images/nonewprivs: installed setuid root; prints the effective uid,
 * which stays the caller's when no_new_privs is set. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("Effective uid: %d\n", (int)geteuid());
    return 0;
}
