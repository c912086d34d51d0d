# Counts the primes below 10,000 by trial division; r0 = 1229.
# Run it:  npx bpftime vm asm examples/prime.asm | npx bpftime vm exec
    mov %r0, 0
    mov %r1, 2
outer:
    mov %r2, 2
inner:
    mov %r3, %r2
    mul %r3, %r2
    jgt %r3, %r1, isprime
    mov %r4, %r1
    mod %r4, %r2
    jeq %r4, 0, next
    add %r2, 1
    ja inner
isprime:
    add %r0, 1
next:
    add %r1, 1
    jlt %r1, 10000, outer
    exit
