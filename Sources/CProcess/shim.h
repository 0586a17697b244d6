#ifndef MARKETLENS_CPROCESS_SHIM_H
#define MARKETLENS_CPROCESS_SHIM_H
// prctl is variadic, which Swift cannot call: one fixed-signature wrapper per use.
#include <sys/prctl.h>

/// Asks the kernel to send `signal` to this process when the thread that created it (the supervisor) exits.
static inline int marketlens_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}
#endif
