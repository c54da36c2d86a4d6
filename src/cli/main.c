#include <stdio.h>
int main(void) { puts("carve: under construction"); return 0; }
