module calculator

go 1.27
