// ATTESTLAB_SANITIZED_ALLOCATOR: defined when ASan or TSan replace glibc's malloc (GCC's
// __SANITIZE_*__ or clang's __has_feature). What glibc's allocator reports or does
// (mallinfo2, malloc_trim) is then not the process's heap, and tests of it skip or relax.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ATTESTLAB_SANITIZED_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ATTESTLAB_SANITIZED_ALLOCATOR 1
#endif
#endif
