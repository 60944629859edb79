# flowd: one binary for the API, the web UI and the workers, and flowd-sandbox, the
# small program in which a worker runs each script (found beside flowd).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/flowd ./cmd/flowd && \
    CGO_ENABLED=0 go build -trimpath -o /out/flowd-sandbox ./cmd/flowd-sandbox

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/flowd /flowd
COPY --from=build /out/flowd-sandbox /flowd-sandbox
USER 65532
ENTRYPOINT ["/flowd"]
