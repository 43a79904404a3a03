module error

go 1.27
