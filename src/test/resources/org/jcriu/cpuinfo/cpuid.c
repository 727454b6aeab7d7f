/* Prints the raw CPUID registers cpuinfo.img is made of: "leaf.sub eax ebx ecx edx" in hex. */
#include <cpuid.h>
#include <stdio.h>

int main(void)
{
	static const unsigned leaves[][2] = {
		{0, 0}, {1, 0}, {6, 0}, {7, 0}, {0xd, 0}, {0xd, 1}, {0x80000000, 0}, {0x80000001, 0},
		{0x80000007, 0}, {0x80000008, 0}, {0x8000000a, 0},
	};
	for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		unsigned a, b, c, d;
		__cpuid_count(leaves[i][0], leaves[i][1], a, b, c, d);
		printf("%x.%u %x %x %x %x\n", leaves[i][0], leaves[i][1], a, b, c, d);
	}
	return 0;
}
