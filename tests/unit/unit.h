/* unit.h: what every cmocka unit test of the core includes. */
#ifndef HFS_UNIT_H
#define HFS_UNIT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
