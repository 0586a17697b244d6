#ifndef MARKETLENS_CCURL_SHIM_H
#define MARKETLENS_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot call:
// typed wrappers, one per argument kind.
static inline CURLcode ml_curl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ml_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ml_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ml_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ml_curl_easy_setopt_offset(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ml_curl_easy_setopt_write_callback(CURL *h, size_t (*f)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f);
}
static inline CURLcode ml_curl_easy_setopt_header_callback(CURL *h, size_t (*f)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, f);
}
static inline CURLcode ml_curl_easy_setopt_xferinfo_callback(CURL *h, int (*f)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t)) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f);
}
static inline CURLcode ml_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ml_curl_easy_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ml_curl_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ml_curl_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode ml_curl_multi_setopt_long(CURLM *h, CURLMoption o, long v) { return curl_multi_setopt(h, o, v); }
static inline CURLMcode ml_curl_multi_setopt_pointer(CURLM *h, CURLMoption o, void *v) { return curl_multi_setopt(h, o, v); }
static inline CURLMcode ml_curl_multi_setopt_socket_callback(CURLM *h, int (*f)(CURL *, curl_socket_t, int, void *, void *)) {
    return curl_multi_setopt(h, CURLMOPT_SOCKETFUNCTION, f);
}
static inline CURLMcode ml_curl_multi_setopt_timer_callback(CURLM *h, int (*f)(CURLM *, long, void *)) {
    return curl_multi_setopt(h, CURLMOPT_TIMERFUNCTION, f);
}

// The multi handle's event loop (HTTPStreamSet drives libcurl with curl_multi_socket_action): an epoll set of the
// sockets libcurl asks to watch plus an eventfd other threads write to wake the loop. epoll_event is packed on
// x86_64, which Swift does not import well: these take and return plain values.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <errno.h>

static inline int ml_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// Watches `fd` for `readable`/`writable` (both 0: stops watching it). Adds or modifies as needed.
static inline int ml_epoll_watch(int ep, int fd, int readable, int writable) {
    if (!readable && !writable) {
        int rc = epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        return (rc == 0 || errno == ENOENT || errno == EBADF) ? 0 : -1;
    }
    struct epoll_event ev = {0};
    ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
    if (errno != ENOENT) return -1;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/// Waits up to `timeout_ms` for at most `max` ready descriptors; fills `fds` and libcurl's CURL_CSELECT_* bits in
/// `flags`. Returns how many (0 on timeout or a signal), -1 on another error.
static inline int ml_epoll_wait(int ep, int *fds, int *flags, int max, int timeout_ms) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int n = epoll_wait(ep, events, max, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        fds[i] = events[i].data.fd;
        int f = 0;
        if (events[i].events & (EPOLLIN | EPOLLHUP)) f |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) f |= CURL_CSELECT_OUT;
        if (events[i].events & EPOLLERR) f |= CURL_CSELECT_ERR;
        flags[i] = f;
    }
    return n;
}

static inline int ml_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline void ml_eventfd_signal(int fd) { uint64_t one = 1; ssize_t r = write(fd, &one, sizeof one); (void)r; }
static inline void ml_eventfd_drain(int fd) { uint64_t value; ssize_t r = read(fd, &value, sizeof value); (void)r; }
#endif
