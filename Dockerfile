# flowd: one binary for the API, the web UI and the workers.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/flowd ./cmd/flowd

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/flowd /flowd
USER 65532
ENTRYPOINT ["/flowd"]
