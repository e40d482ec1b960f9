module goleash.test/fidelity

go 1.27
