# Klaxon: one static binary, run as a non-root user, with the example
# config as its default. Mount your own config over /etc/klaxon.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# klaxon version prints them: the context leaves .git out, so go build
# cannot stamp the commit (docker build --build-arg VERSION=$(git describe
# --tags) --build-arg COMMIT=$(git rev-parse --short=12 HEAD) .).
ARG VERSION=""
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/klaxon ./cmd/klaxon \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/klaxon /usr/local/bin/klaxon
COPY examples/ /etc/klaxon/
COPY --from=build --chown=65532:65532 /out/data /var/lib/klaxon
ENV KLAXON_LISTEN=0.0.0.0:8080 \
    KLAXON_STORE_PATH=/var/lib/klaxon/klaxon.db
VOLUME /var/lib/klaxon
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/klaxon"]
CMD ["serve", "--config", "/etc/klaxon/klaxon.yaml"]
