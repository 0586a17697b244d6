#ifndef MARKETLENS_CPOSTGRES_SHIM_H
#define MARKETLENS_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#endif
