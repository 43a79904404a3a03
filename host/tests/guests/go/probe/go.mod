module probe

go 1.27
