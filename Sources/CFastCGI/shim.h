#ifndef MARKETLENS_CFASTCGI_SHIM_H
#define MARKETLENS_CFASTCGI_SHIM_H
// The re-entrant FCGX_* API only: never fcgi_stdio.h.
#include <fcgiapp.h>
#endif
