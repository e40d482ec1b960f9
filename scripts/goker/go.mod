module goleash/scripts/goker

go 1.27
