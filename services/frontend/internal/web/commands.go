package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/pkg/strictjson"
)

// maxCommandBytes bounds one command, over HTTP or the websocket: a command
// is a few dozen bytes.
const maxCommandBytes = 1024

// errNotACommand answers anything that does not decode as a command.
var errNotACommand = errors.New(`a command is JSON such as {"type":"setRate","rps":25}, with rps a whole number of requests per second`)

// decodeCommand is the one decoder of the page's commands: exactly one JSON
// object with the command's keys, spelled exactly.
func decodeCommand(data []byte) (pageapi.Command, error) {
	var cmd pageapi.Command
	if err := strictjson.Decode(data, &cmd); err != nil {
		return pageapi.Command{}, fmt.Errorf("%w: %v", errNotACommand, err)
	}
	return cmd, nil
}

// apply carries out one decoded command.
func (s *site) apply(cmd pageapi.Command) error {
	switch cmd.Type {
	case pageapi.SetRate:
		if cmd.RPS == nil {
			return errors.New(`setRate needs "rps", a whole number of requests per second`)
		}
		return s.Generator.SetRate(*cmd.RPS)
	}
	return fmt.Errorf("unknown command %q", cmd.Type)
}

// command is the websocket's way in.
func (s *site) command(msg []byte) error {
	cmd, err := decodeCommand(msg)
	if err != nil {
		return err
	}
	return s.apply(cmd)
}

// putRate is the HTTP way in: PUT /api/rate takes the setRate command, whose
// type the path already names.
func (s *site) putRate(c echo.Context) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxCommandBytes))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, errNotACommand.Error())
	}
	cmd, err := decodeCommand(body)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	switch cmd.Type {
	case "":
		cmd.Type = pageapi.SetRate
	case pageapi.SetRate:
	default:
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("PUT /api/rate takes setRate, not %q", cmd.Type))
	}
	if err := s.apply(cmd); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return c.JSON(http.StatusOK, pageapi.Rate{RPS: s.Generator.Rate()})
}
